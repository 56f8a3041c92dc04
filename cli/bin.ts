#!/usr/bin/env node
/**
 * kubeseal from the source tree (`node cli/bin.ts`) or from dist/cli/. The installed executable is
 * dist/bin/kubeseal.js instead: one bundle with a V8 code cache (scripts/bundle.ts).
 */
import { main } from './main.ts';

await main(import.meta.url);
