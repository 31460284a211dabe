// The default registry: one JSON file per node under a state folder, so every
// process on the machine (or in containers sharing the folder) sees the others
// without a server or multicast.
//
//   <dir>/<service name>/<node id>.json   ("/" in name and id becomes "-", as etcd keys do)
//
// A file holds exactly upstream's JSON for the service with that one node, so
// it reads like an etcd value. The ttl lives in the file's mtime: it is the
// node's deadline, and readers ignore files whose mtime has passed. Writers
// write a temp file, set its mtime, then rename it into place; rename is atomic
// and keeps the mtime, so a reader sees the old file or the new one, never half.
import { goJSON } from "../util/gojson.js";
import { randomBytes } from "node:crypto";
import { type FSWatcher, watch as watchFs } from "node:fs";
import { mkdir, open, readdir, rename, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { Action, RegisterOptions, Registry, Service, WatchOptions, Watcher } from "./registry.js";
import { copyService, invalidService, listByNameAndVersion, mergeByVersion, sameService } from "./services.js";
import { QueueWatcher } from "./watcher.js";

export interface LocalRegistryOptions {
  /** The state folder; default defaultLocalRegistryDir(). */
  dir?: string;
}

/** `${XDG_STATE_HOME or ~/.local/state}/micro/registry` */
export function defaultLocalRegistryDir(): string {
  const state = process.env["XDG_STATE_HOME"];
  // The XDG spec says a relative value is invalid and must be ignored.
  const base = state && isAbsolute(state) ? state : join(home(), ".local", "state");
  return join(base, "micro", "registry");
}

function home(): string {
  try {
    return homedir();
  } catch {
    return tmpdir(); // no HOME and no passwd entry (some containers): still a usable default
  }
}

/**
 * The mtime written for ttl 0 (a permanent node): 2200-01-01. Any deadline this
 * far out simply never passes; there is no special marker to agree on.
 */
const PERMANENT = Date.UTC(2200, 0, 1);
/**
 * Expired files are deleted only this long after their deadline. Deleting
 * races with the owner re-registering: a reader judges the old file dead, the
 * owner renames a fresh one into place, the reader's unlink removes the fresh
 * one. The grace makes that need an owner stalled a full minute past its ttl,
 * and its next re-registration writes the file again anyway. Expiry itself is
 * immediate: readers go by the mtime, not by the file's presence.
 */
const GC_GRACE = 60_000;
/** Watchers rescan this often even when fs.watch says nothing (it can miss events, or not work at all). */
const RESCAN_INTERVAL = 1_000;
/** fs.watch fires several events per write; one scan serves them all. */
const SCAN_DEBOUNCE = 10;
const MAX_TIMER = 2 ** 31 - 1;

type ErrnoError = NodeJS.ErrnoException;

function errorCode(error: unknown): string | undefined {
  return (error as ErrnoError | undefined)?.code;
}

function folderError(folder: string, problem: string, cause: unknown): Error {
  const reason = errorCode(cause) ?? (cause instanceof Error ? cause.message : String(cause));
  return new Error(`registry folder ${folder} ${problem}: ${reason}`, { cause });
}

/** A name or id as one path segment; undefined when it cannot be one. */
function segment(text: string): string | undefined {
  const safe = text.replaceAll("/", "-");
  return safe === "" || safe === "." || safe === ".." || safe.includes("\0") ? undefined : safe;
}

interface NodeFile {
  /** The service with its one node. */
  service: Service;
  /** The deadline (epoch ms). */
  mtimeMs: number;
  ino: number;
  size: number;
}

function parseNodeFile(text: string): Service | undefined {
  try {
    const value = JSON.parse(text) as Service;
    if (invalidService(value) || !Array.isArray(value.nodes) || value.nodes.length === 0) return undefined;
    return copyService(value);
  } catch {
    return undefined; // corrupt, or not ours: skip it
  }
}

/** Read one node file; `previous` is reused when the file has not changed since. */
async function readNodeFile(file: string, previous: NodeFile | undefined): Promise<NodeFile | undefined> {
  if (previous) {
    const st = await stat(file).catch(() => undefined);
    if (!st) return undefined;
    if (st.ino === previous.ino && st.mtimeMs === previous.mtimeMs && st.size === previous.size) return previous;
  }
  let handle;
  try {
    handle = await open(file, "r");
    // Deadline and content from the same open file: a rename in between cannot mix them.
    const st = await handle.stat();
    const service = parseNodeFile(await handle.readFile("utf8"));
    return service && { service, mtimeMs: st.mtimeMs, ino: st.ino, size: st.size };
  } catch {
    return undefined; // gone since readdir
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Every readable node file in a service folder (file name → file), expired
 * ones included until they are garbage-collected here. Throws what readdir
 * throws (ENOENT when there is no such folder).
 */
async function readFolder(
  folder: string,
  now: number,
  previous?: ReadonlyMap<string, NodeFile>,
): Promise<Map<string, NodeFile>> {
  const names = (await readdir(folder)).sort(); // sorted: answers list nodes in a stable order
  const read = await Promise.all(
    names.map(async (name): Promise<NodeFile | undefined> => {
      const path = join(folder, name);
      if (name.endsWith(".tmp")) {
        // A writer that died between write and rename; live writers finish in milliseconds.
        const st = await stat(path).catch(() => undefined);
        if (st && st.ctimeMs < now - GC_GRACE) await unlink(path).catch(() => undefined);
        return undefined;
      }
      if (!name.endsWith(".json")) return undefined;
      const file = await readNodeFile(path, previous?.get(name));
      if (!file || file.mtimeMs >= now - GC_GRACE) return file;
      await unlink(path).catch(() => undefined);
      return undefined;
    }),
  );
  const files = new Map<string, NodeFile>();
  names.forEach((name, i) => {
    const file = read[i];
    if (file) files.set(name, file);
  });
  return files;
}

function* liveServices(files: Iterable<NodeFile>, now: number): Iterable<Service> {
  for (const file of files) if (file.mtimeMs > now) yield file.service;
}

async function writeNodeFile(folder: string, id: string, service: Service, deadline: number): Promise<void> {
  const name = `${segment(id)}.json`;
  // Not *.json, so readers never pick it up; pid + random so concurrent writers never share one.
  const temp = join(folder, `.${name}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const text = goJSON(service);
  let problem = "is not writable";
  try {
    try {
      await writeFile(temp, text, { flag: "wx" });
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
      // First node of this service (or the folder was removed): create it, then write once more.
      problem = "cannot be created";
      await mkdir(folder, { recursive: true });
      problem = "is not writable";
      await writeFile(temp, text, { flag: "wx" });
    }
    await utimes(temp, Date.now() / 1000, deadline / 1000);
    await rename(temp, join(folder, name));
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw folderError(folder, problem, error);
  }
}

interface Subscription {
  watcher: QueueWatcher;
  service: string | undefined;
}

export class LocalRegistry implements Registry {
  readonly name = "local";
  readonly dir: string;
  #scanner: Scanner | undefined;
  #closed = false;

  constructor(options: LocalRegistryOptions = {}) {
    this.dir = resolve(options.dir || defaultLocalRegistryDir());
  }

  async register(service: Service, options: RegisterOptions = {}): Promise<void> {
    const folder = this.#folderOf(service);
    const ttl = options.ttl !== undefined && options.ttl > 0 ? options.ttl : 0;
    // Let a watcher of ours take its baseline first, so it reports this write.
    await this.#scanner?.ready;
    const deadline = ttl ? Date.now() + ttl : PERMANENT;
    await Promise.all(
      (service.nodes ?? []).map((node) => writeNodeFile(folder, node.id, copyService(service, [node]), deadline)),
    );
    this.#scanner?.trigger();
  }

  async deregister(service: Service): Promise<void> {
    const folder = this.#folderOf(service);
    await this.#scanner?.ready;
    await Promise.all(
      (service.nodes ?? []).map(async (node) => {
        try {
          await unlink(join(folder, `${segment(node.id)}.json`));
        } catch (error) {
          if (errorCode(error) !== "ENOENT") throw folderError(folder, "is not writable", error);
        }
      }),
    );
    this.#scanner?.trigger();
  }

  async getService(name: string): Promise<Service[]> {
    const safe = typeof name === "string" ? segment(name) : undefined;
    if (!safe) return [];
    await this.#scanner?.ready;
    const folder = join(this.dir, safe);
    const now = Date.now();
    let files: Map<string, NodeFile>;
    try {
      files = await readFolder(folder, now);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return [];
      throw folderError(folder, "is not readable", error);
    }
    // Names that differ only by "/" versus "-" share a folder.
    return mergeByVersion([...liveServices(files.values(), now)].filter((s) => s.name === name));
  }

  async listServices(): Promise<Service[]> {
    await this.#scanner?.ready;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return [];
      throw folderError(this.dir, "is not readable", error);
    }
    const now = Date.now();
    const all: Service[] = [];
    await Promise.all(
      names.map(async (name) => {
        const files = await readFolder(join(this.dir, name), now).catch(() => undefined);
        if (files) all.push(...liveServices(files.values(), now));
      }),
    );
    return listByNameAndVersion(all);
  }

  watch(options: WatchOptions = {}): Watcher {
    const subscription: Subscription = {
      watcher: new QueueWatcher(() => this.#unsubscribe(subscription)),
      service: options.service,
    };
    if (this.#closed) {
      subscription.watcher.stop();
      return subscription.watcher;
    }
    // One scanner per registry, however many watchers.
    this.#scanner ??= new Scanner(this.dir);
    this.#scanner.subscriptions.add(subscription);
    return subscription.watcher;
  }

  /** Stops every watcher and the scanner. The files stay: registrations outlive the process until their ttl. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { watcher } of [...(this.#scanner?.subscriptions ?? [])]) watcher.stop();
  }

  /** The service's folder; throws (inside the async callers) when the service cannot be stored. */
  #folderOf(service: Service): string {
    const problem = invalidService(service);
    if (problem) throw new Error(problem);
    const folder = segment(service.name);
    if (!folder) throw new Error(`service name ${JSON.stringify(service.name)} cannot be a folder name`);
    for (const node of service.nodes ?? []) {
      if (!segment(node.id)) throw new Error(`node id ${JSON.stringify(node.id)} cannot be a file name`);
    }
    return join(this.dir, folder);
  }

  #unsubscribe(subscription: Subscription): void {
    const scanner = this.#scanner;
    if (!scanner) return;
    scanner.subscriptions.delete(subscription);
    if (scanner.subscriptions.size === 0) {
      scanner.stop();
      this.#scanner = undefined;
    }
  }
}

/**
 * Keeps a snapshot of the live nodes and diffs each rescan against it to emit
 * create/update/delete. fs.watch (root and each service folder) only triggers
 * rescans; a periodic rescan and a timer at the next deadline catch what it
 * misses, including expiries, which no file event announces.
 */
class Scanner {
  readonly subscriptions = new Set<Subscription>();
  /** Resolves once the first scan (the baseline, which emits nothing) is done. Never rejects. */
  readonly ready: Promise<void>;
  readonly #dir: string;
  /** folder name → file name → file, as last read; lets unchanged files skip a read. */
  #folders = new Map<string, Map<string, NodeFile>>();
  /** "folder/file" → the service last reported for it. */
  #live = new Map<string, Service>();
  #baselined = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  #again = false;
  #rootWatcher: FSWatcher | undefined;
  #folderWatchers = new Map<string, FSWatcher>();
  /** Folders where fs.watch threw: polling alone covers them. */
  #unwatchable = new Set<string>();
  #interval: NodeJS.Timeout;
  #expiryTimer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;

  constructor(dir: string) {
    this.#dir = dir;
    // Every timer is unref'd and every fs.watch non-persistent: watching never keeps a process alive.
    this.#interval = setInterval(() => this.trigger(), RESCAN_INTERVAL).unref();
    this.ready = this.#scan();
  }

  trigger(): void {
    if (this.#stopped || this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.#scan();
    }, SCAN_DEBOUNCE).unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#interval);
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#debounce);
    this.#rootWatcher?.close();
    this.#rootWatcher = undefined;
    for (const watcher of this.#folderWatchers.values()) watcher.close();
    this.#folderWatchers.clear();
  }

  /** One scan at a time; a request during a scan runs one more right after it. */
  #scan(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false;
        try {
          await this.#scanOnce();
        } catch {
          // Unexpected; the next tick rescans.
        }
      } while (this.#again && !this.#stopped);
    };
    this.#running = run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #scanOnce(): Promise<void> {
    if (this.#stopped) return;
    const now = Date.now();
    let names: string[];
    try {
      names = await readdir(this.#dir);
      this.#watchRoot();
    } catch (error) {
      if (errorCode(error) !== "ENOENT") {
        // Unreadable: keep the last view rather than report every node deleted.
        this.#baselined = true;
        return;
      }
      names = [];
      this.#rootWatcher?.close(); // watched a folder that is gone; watch the new one when it appears
      this.#rootWatcher = undefined;
    }
    const folders = new Map<string, Map<string, NodeFile>>();
    await Promise.all(
      names.map(async (name) => {
        const folder = join(this.#dir, name);
        try {
          folders.set(name, await readFolder(folder, now, this.#folders.get(name)));
          this.#watchFolder(name, folder);
        } catch (error) {
          const code = errorCode(error);
          const last = this.#folders.get(name);
          if (code !== "ENOENT" && code !== "ENOTDIR" && last) folders.set(name, last);
        }
      }),
    );
    if (this.#stopped) return;
    for (const [name, watcher] of this.#folderWatchers) {
      if (folders.has(name)) continue;
      watcher.close();
      this.#folderWatchers.delete(name);
    }
    this.#folders = folders;

    const live = new Map<string, Service>();
    let nextDeadline = Infinity;
    for (const [folder, files] of folders) {
      for (const [name, file] of files) {
        if (file.mtimeMs <= now) continue;
        live.set(`${folder}/${name}`, file.service);
        nextDeadline = Math.min(nextDeadline, file.mtimeMs);
      }
    }
    if (this.#baselined) this.#emitChanges(this.#live, live);
    this.#baselined = true;
    this.#live = live;
    this.#scheduleExpiry(nextDeadline);
  }

  #emitChanges(before: ReadonlyMap<string, Service>, after: ReadonlyMap<string, Service>): void {
    for (const [key, service] of before) if (!after.has(key)) this.#emit("delete", service);
    for (const [key, service] of after) {
      const old = before.get(key);
      if (!old) this.#emit("create", service);
      else if (old !== service && !sameService(old, service)) {
        // A node re-registered under another version: its one file now holds only the new version, so the
        // old one loses the node. Caches merge events by version and would otherwise keep it there for good.
        if (old.name !== service.name || old.version !== service.version) this.#emit("delete", old);
        this.#emit("update", service);
      }
    }
  }

  #emit(action: Action, service: Service): void {
    for (const { watcher, service: only } of this.subscriptions) {
      if (only === undefined || only === service.name) watcher.push({ action, service: copyService(service) });
    }
  }

  #scheduleExpiry(deadline: number): void {
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    if (deadline === Infinity || deadline >= PERMANENT) return;
    // A few ms late so the deadline has surely passed when the scan runs.
    const delay = Math.min(Math.max(0, deadline - Date.now()) + 5, MAX_TIMER);
    this.#expiryTimer = setTimeout(() => this.trigger(), delay).unref();
  }

  #watchRoot(): void {
    if (this.#rootWatcher || this.#unwatchable.has(this.#dir)) return;
    this.#rootWatcher = this.#watch(this.#dir, () => (this.#rootWatcher = undefined));
  }

  #watchFolder(name: string, folder: string): void {
    if (this.#folderWatchers.has(name) || this.#unwatchable.has(folder)) return;
    const watcher = this.#watch(folder, () => this.#folderWatchers.delete(name));
    if (!watcher) return;
    this.#folderWatchers.set(name, watcher);
    // A file renamed in between this scan's readdir and now fired no event: look once more.
    this.trigger();
  }

  /** fs.watch, or undefined where it does not work (some filesystems, inotify limits). */
  #watch(folder: string, forget: () => void): FSWatcher | undefined {
    try {
      const watcher = watchFs(folder, { persistent: false }, () => this.trigger());
      watcher.on("error", () => {
        // Dropped; the next scan tries again, and polling covers the gap.
        watcher.close();
        forget();
      });
      return watcher;
    } catch (error) {
      if (errorCode(error) !== "ENOENT") this.#unwatchable.add(folder);
      return undefined;
    }
  }
}
