import { ConfigError } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { startTelemetry } from './telemetry.ts';

/**
 * The composition root's frame for a long-running process: logger, telemetry, clean
 * shutdown on SIGINT/SIGTERM, and a clear message (exit 1) when start-up fails.
 */
const STOP_TIMEOUT_MS = 15_000;

export function runProcess<C extends { LOG_LEVEL: string; OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined }>(
  service: string,
  loadConfig: () => C,
  start: (config: C, logger: Logger) => Promise<() => Promise<void>>,
): void {
  let logger: Logger | undefined;
  const main = async () => {
    const config = loadConfig();
    logger = createLogger({ service, level: config.LOG_LEVEL });
    const telemetry = startTelemetry({ service, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
    const stop = await start(config, logger);
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger?.info({ signal }, 'stopping');
      // A dependency that hangs (a database that went away) must not keep the process alive.
      const deadline = setTimeout(() => {
        logger?.error({ afterMs: STOP_TIMEOUT_MS }, 'clean stop timed out; exiting');
        process.exit(1);
      }, STOP_TIMEOUT_MS);
      deadline.unref();
      await stop().catch((error: unknown) => logger?.error({ err: error }, 'stop failed'));
      await telemetry.stop().catch(() => undefined);
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  };
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`${service}: ${error.message}\n`);
    else if (logger) logger.fatal({ err: error }, 'failed to start');
    else process.stderr.write(`${service} failed to start: ${String(error)}\n`);
    process.exit(1);
  });
}
