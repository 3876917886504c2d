import { defineConfig } from 'vite';

// The dashboard: built into dist/ui and served by `llmscope serve`; no CDN, works offline.
export default defineConfig({
  root: 'src/ui',
  base: './',
  build: { outDir: '../../dist/ui', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  logLevel: 'warn',
});
