import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The console is served by the core at /console/ from server/console/dist (go:embed). The
// development server (npm run dev) proxies the API to a core on 127.0.0.1:8080.
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "../server/console/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      "/graphql": "http://127.0.0.1:8080",
      "/console/session": "http://127.0.0.1:8080",
    },
  },
});
