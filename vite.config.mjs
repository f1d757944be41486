// The pipeline editor's build (code-split ES modules into static/build/editor/) and its Vitest suite.
// Only the editor pages load pipeline_editor.js; it pulls the editor, CodeMirror and the diff view as chunks.
import { defineConfig } from "vite";

export default defineConfig({
  publicDir: false,
  base: "./", // chunks load relative to the entry, wherever STATIC_URL points
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "static/build/editor",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
    rollupOptions: {
      input: { pipeline_editor: "assets/pipeline_editor/index.jsx" },
      onwarn(warning, warn) {
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return; // @xyflow/react's "use client" (for RSC bundlers)
        warn(warning);
      },
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "chunks/[name]-[hash].js",
        assetFileNames: "chunks/[name]-[hash][extname]",
        // Shared code in chunks named for what is in them (React, React Flow), not after a module that uses it.
        codeSplitting: {
          groups: [
            { name: "react", test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ },
            { name: "xyflow", test: /node_modules[\\/](@xyflow|d3-[a-z]+|zustand|classcat)[\\/]/ },
          ],
        },
      },
    },
  },
  test: {
    include: ["tests/assets/**/*.test.js"],
    environment: "node",
  },
});
