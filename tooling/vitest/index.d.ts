import type { ViteUserConfig } from 'vitest/config';
export declare const shared: ViteUserConfig;
export default shared;
