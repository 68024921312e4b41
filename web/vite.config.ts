// The dashboard's build: `npm run build` (scripts/build.mjs) writes web/dist, which Mailroom serves at /.
// `npx vite web` serves it with hot reload and proxies the dashboard API to a Mailroom on :3000.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: { proxy: { "/dashboard/api": "http://localhost:3000", "/favicon.ico": "http://localhost:3000" } },
});
