import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the engine at `/` from builder-ui/dist; in development the Vite server proxies the API to a local engine.
export default defineConfig({
  base: '/',
  plugins: [react()],
  server: {
    proxy: { '/v1': 'http://127.0.0.1:3000' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // Keep React and the canvas library in stable vendor chunks so the app chunk stays small and cacheable.
        manualChunks: {
          react: ['react', 'react-dom'],
          xyflow: ['@xyflow/react'],
        },
      },
    },
  },
});
