// The entry point of the weekenddouble-ts plugin: scripts/bundle.mjs bundles it into one
// executable file with a node shebang, which is what the core registers and starts.
import { serve } from "../../src/index.js";
import { plugin } from "./plugin.js";

void serve(plugin);
