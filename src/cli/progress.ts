/**
 * Progress for long commands (pull, commit, checkout, fsck).
 *
 * On a terminal: one line on stderr, redrawn in place at most ~10 times a second (the latest text
 * always gets drawn, by a trailing timer that does not keep the process alive).
 * Not on a terminal: nothing while working, and only the one-line summary the command passes to
 * {@link Progress.done} — logs and test output stay clean.
 */

import { isTerminal } from "./output.js";

/** Options for {@link Progress}. */
export interface ProgressOptions {
  /** Draw the live line; default: stderr is a terminal. */
  tty?: boolean;
  /** Terminal width; default `$COLUMNS` or the terminal's width, else 80. */
  columns?: number;
  /** Where text goes; default: the context's stderr. */
  write: (text: string) => void;
  /** Minimum time between redraws, ms (default 100). */
  intervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

function terminalColumns(): number {
  const env = Number.parseInt(process.env.COLUMNS ?? "", 10);
  if (env > 0) return env;
  const cols = isTerminal(2) ? process.stderr.columns : undefined;
  return cols && cols > 0 ? cols : 80;
}

/** A throttled single-line progress display. */
export class Progress {
  readonly tty: boolean;
  private readonly write: (text: string) => void;
  private readonly interval: number;
  private readonly now: () => number;
  private columns: number | undefined;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private pending: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private shown = false;
  private finished = false;

  constructor(options: ProgressOptions) {
    this.tty = options.tty ?? isTerminal(2);
    this.write = options.write;
    this.interval = options.intervalMs ?? 100;
    this.now = options.now ?? Date.now;
    this.columns = options.columns;
  }

  /** Report the current state, e.g. `Receiving objects: 41% (1200/2900) 3.1 MB/s`. */
  update(text: string): void {
    if (!this.tty || this.finished) return;
    const wait = this.lastDraw + this.interval - this.now();
    if (wait <= 0) {
      this.draw(text);
      return;
    }
    this.pending = text;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.pending !== undefined && !this.finished) this.draw(this.pending);
      }, wait);
      this.timer.unref?.();
    }
  }

  /** Erase the live line (before printing something else to the terminal); the next update redraws. */
  clear(): void {
    if (this.shown) {
      this.write("\r\x1b[K");
      this.shown = false;
    }
  }

  /** Stop: erase the live line and print `summary` (if any) as a normal line, TTY or not. */
  done(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.clear();
    if (summary !== undefined) this.write(`${summary}\n`);
  }

  private draw(text: string): void {
    this.pending = undefined;
    this.lastDraw = this.now();
    this.columns ??= terminalColumns();
    const max = Math.max(1, this.columns - 1);
    const line = text.length > max ? text.slice(0, max) : text;
    this.write(`\r${line}\x1b[K`);
    this.shown = true;
  }
}
