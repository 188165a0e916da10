// Entry point of `pake-operator` (node src/cli/main.ts, or dist/src/cli/main.js).
// Kept free of logic so tests can import the dispatcher without running it.
import { main } from "./commands.ts";

process.exitCode = await main(process.argv.slice(2));
