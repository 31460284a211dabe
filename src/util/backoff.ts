// Upstream's backoff: floor(attempt^e) * 100 ms, capped at 2 minutes past 13 attempts.
export function exponentialBackoff(attempt: number): number {
  if (attempt <= 0) return 0;
  if (attempt > 13) return 120_000;
  return Math.floor(Math.pow(attempt, Math.E)) * 100;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
