/**
 * Tests that need an external service (MongoDB, RabbitMQ, …) find it through an environment variable that
 * ./test.sh sets after starting the services (scripts/services.sh). DESIGN, Tests: under CI=true a missing
 * service is a failure; outside CI the tests are skipped, saying why.
 */

export const isCI = (): boolean => /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** The service URL from `envVar`, or undefined when unset or blank. */
export function serviceUrl(envVar: string): string | undefined {
  const url = process.env[envVar]?.trim();
  return url ? url : undefined;
}

export function missingServiceMessage(envVar: string): string {
  return `${envVar} not set: run ./test.sh, which starts the services`;
}

/**
 * `describe(name, () => body(url))` when `envVar` is set. When it is not: under CI one failing test names the
 * missing variable; outside CI the suite is registered as skipped and a warning says why.
 */
export function describeWithService(envVar: string, name: string, body: (url: string) => void): void {
  const url = serviceUrl(envVar);
  const message = missingServiceMessage(envVar);
  if (!url && isCI()) {
    describe(name, () => {
      it(`needs ${envVar}`, () => {
        throw new Error(message);
      });
    });
    return;
  }
  if (!url) console.warn(`Skipping "${name}": ${message} (outside CI only; with CI=true this fails).`);
  const suite = url ? describe : describe.skip;
  suite(name, () => body(url ?? ''));
}
