/**
 * @file Builds the Svelte renderer into dist/renderer, which `kith serve` serves over loopback
 * and Electron loads from its own protocol. Relative asset URLs (base './') work under both.
 */
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  plugins: [svelte({ compilerOptions: { runes: true } })],
  build: {
    outDir: here('../dist/renderer'),
    emptyOutDir: true,
    target: 'es2022',
    // The strict CSP (script-src 'self') forbids inline scripts, so keep everything in files.
    assetsInlineLimit: 0,
  },
  server: { fs: { allow: [here('..')] } },
});
