// Service logs in upstream's line shape ("2006-01-02 15:04:05  level=info msg"),
// to stderr, filtered by MICRO_LOG_LEVEL as upstream.
const LEVELS = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5 } as const;
export type Level = keyof typeof LEVELS;

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const pad = (n: number) => String(n).padStart(2, "0");

function stamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function newLogger(level: string | undefined = process.env.MICRO_LOG_LEVEL, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = LEVELS[(level?.toLowerCase() as Level) ?? "info"] ?? LEVELS.info;
  const at = (name: Level) => (msg: string) => {
    if (LEVELS[name] >= min) write(`${stamp(new Date())}  level=${name} ${msg}\n`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
