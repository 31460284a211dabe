// The micro command as bin/micro.js runs it from dist/, but from the bench's
// own build (.bench-build/), so a stale or missing dist/ cannot skew the
// registry section's CLI timings.
import { main } from "../src/cmd/micro.js";

process.exit(await main(process.argv.slice(2)));
