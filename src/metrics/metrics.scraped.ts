import { Counter, Gauge, type Registry } from 'prom-client';

/** A gauge read from its source when scraped; absent from the scrape while `read` has no value. */
export function scrapedGauge(registers: Registry[], name: string, help: string, read: () => number | undefined): void {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      const value = read();
      if (value === undefined) this.remove();
      else this.set(value);
    },
  });
}

/** A counter whose total is kept elsewhere (a plain number), copied into its series when scraped. */
export function scrapedCounter(registers: Registry[], name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
