// Runs a raw PVM program blob on the AssemblyScript reference PVM @fluffylabs/anan-as (used as a
// black box through its published entry points only: package.json "exports" and the exported
// functions listed in its .d.ts files) and prints one JSON line with the result and the timing.
//
//   node bench/anan_run.mjs [--build NAME] [--gas N] [--map ADDR:LEN:r|rw]... [--reg I=V]...
//                           [--min-time S] [--max-runs N] FILE
//
//   --build     an export of the package: release (the default export), release-mini,
//               release-stub, debug ...                                        [release]
//   --gas       initial gas                                                    [10^15]
//   --map       make [ADDR, ADDR+LEN) readable (r) or readable+writable (rw); page-aligned
//   --reg       initial register value (decimal or 0x hex)
//   --min-time  repeat the run until this many seconds have been measured     [1.0]
//   --max-runs  but at most this many runs                                     [5]
//
// Output (stdout, one line): {"engine", "status", "pc", "gas", "gas_used", "exit_arg", "regs",
// "instructions", "runs", "seconds", "seconds_all"}. "seconds" is the fastest run, measured
// around the runProgram() call only: node start-up, module instantiation and program loading
// (prepareProgram) are excluded. anan-as charges 1 gas per executed instruction, so
// "instructions" = gas used. Integers are printed exactly (64-bit registers are not rounded).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.join(process.env.ANAN_DIR || path.join(here, '.anan-as'),
    'node_modules', '@fluffylabs', 'anan-as');

function die(msg) {
    process.stderr.write(`anan_run: ${msg}\n`);
    process.exit(2);
}

function parseNum(s, what) {
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(s)) die(`bad number for ${what}: '${s}'`);
    return BigInt(s);
}

const opt = { build: 'release', gas: 10n ** 15n, maps: [], regs: Array(13).fill(0n),
    minTime: 1.0, maxRuns: 5, file: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : die(`${a} needs a value`));
    if (a === '--build') opt.build = val();
    else if (a === '--gas') opt.gas = parseNum(val(), '--gas');
    else if (a === '--map') {
        const m = /^([^:]+):([^:]+):(r|rw)$/.exec(val());
        if (!m) die(`bad --map '${argv[i]}' (want ADDR:LEN:r|rw)`);
        opt.maps.push({ address: Number(parseNum(m[1], '--map')),
            length: Number(parseNum(m[2], '--map')), access: m[3] === 'rw' ? 2 : 1 });
    } else if (a === '--reg') {
        const m = /^([0-9]+)=(.+)$/.exec(val());
        if (!m || Number(m[1]) > 12) die(`bad --reg '${argv[i]}' (want I=V, I in 0..12)`);
        opt.regs[Number(m[1])] = parseNum(m[2], '--reg') & ((1n << 64n) - 1n);
    } else if (a === '--min-time') opt.minTime = Number(val());
    else if (a === '--max-runs') opt.maxRuns = Math.max(1, Number(val()) | 0);
    else if (a === '--help' || a === '-h') {
        process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8')
            .split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
        process.exit(0);
    } else if (a.startsWith('-')) die(`unknown option '${a}'`);
    else if (opt.file === null) opt.file = a;
    else die(`unexpected argument '${a}'`);
}
if (opt.file === null) die('missing FILE (a raw PVM program blob)');

let pkg;
try {
    pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
} catch (e) {
    die(`@fluffylabs/anan-as is not installed in ${pkgDir} (${e.code || e.message})`);
}
const key = opt.build === 'release' ? '.' : `./${opt.build}`;
const exp = pkg.exports && pkg.exports[key];
const entry = exp && (typeof exp === 'string' ? exp : exp.import);
if (!entry) die(`the package has no export '${key}'`);
const vm = await import(pathToFileURL(path.join(pkgDir, entry)).href);

let blob;
try {
    blob = Array.from(fs.readFileSync(opt.file));
} catch (e) {
    die(`cannot read ${opt.file}: ${e.code || e.message}`);
}

// Exit status codes of runProgram's VmOutput.status, as observed on small probe programs.
const STATUS = ['halt', 'panic', 'page-fault', 'host-call', 'out-of-gas'];
const pages = opt.maps.reduce((n, m) => n + Math.ceil(m.length / 4096), 0);
const KIND_GENERIC = 0, NO_METADATA = 1;

const times = [];
let out = null;
let total = 0;
while (times.length < opt.maxRuns && (times.length === 0 || total < opt.minTime)) {
    const prog = vm.prepareProgram(KIND_GENERIC, NO_METADATA, blob, opt.regs, opt.maps, [], [], pages);
    const t0 = process.hrtime.bigint();
    const r = vm.runProgram(prog, opt.gas, 0, false, false, false);
    const t1 = process.hrtime.bigint();
    const s = Number(t1 - t0) / 1e9;
    times.push(s);
    total += s;
    if (out !== null && (r.status !== out.status || r.gas !== out.gas))
        die('two runs of the same program gave different results');
    out = r;
    if (typeof vm.__collect === 'function') vm.__collect();
}

const used = opt.gas - BigInt(out.gas);
const status = STATUS[out.status] || `unknown-${out.status}`;
const res = {
    engine: `anan-as ${pkg.version} ${opt.build}`,
    status,
    pc: out.pc,
    gas: BigInt(out.gas),
    gas_used: used,
    exit_arg: out.exitCode,
    regs: out.registers.map((x) => BigInt.asUintN(64, BigInt(x))),
    instructions: used,
    runs: times.length,
    seconds: Math.min(...times),
    seconds_all: times,
};
process.stdout.write(JSON.stringify(res, (k, v) => (typeof v === 'bigint' ? `@@${v}@@` : v))
    .replace(/"@@(-?[0-9]+)@@"/g, '$1') + '\n');
