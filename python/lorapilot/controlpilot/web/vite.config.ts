import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run build` writes into ../static, which FastAPI serves (and the wheel ships).
// `npm run dev` proxies /api to a running ControlPilot (CONTROLPILOT_URL, default :7878).
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../static",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 250,
  },
  server: {
    proxy: {
      "/api": { target: process.env.CONTROLPILOT_URL ?? "http://127.0.0.1:7878", changeOrigin: false },
    },
  },
});
