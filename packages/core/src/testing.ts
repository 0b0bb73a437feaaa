// Test helpers for plugin packages (the conformance kit lands here).
export {};
