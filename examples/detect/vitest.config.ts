import { defineConfig } from 'vitest/config';
import shared from '@shears/vitest-config';

export default defineConfig(shared);
