import { context, propagation, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

/**
 * Starts OpenTelemetry for a process. W3C trace context is always propagated (HTTP
 * headers, Kafka headers); spans are exported only when an OTLP endpoint is configured.
 */
export function startTelemetry(options: { service: string; otlpEndpoint?: string | undefined }) {
  const sdk = new NodeSDK({
    serviceName: options.service,
    // Without an endpoint no exporter is installed at all (the SDK would otherwise try localhost:4318).
    ...(options.otlpEndpoint
      ? { traceExporter: new OTLPTraceExporter({ url: `${options.otlpEndpoint}/v1/traces` }) }
      : { spanProcessors: [] }),
  });
  sdk.start();
  return { stop: () => sdk.shutdown() };
}

/** The current trace context as a `traceparent` header, for messages that cross Kafka. */
export function traceparentHeader(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? { traceparent: carrier.traceparent } : {};
}

export function currentTraceId(): string | undefined {
  return trace.getSpan(context.active())?.spanContext().traceId;
}

/** Runs fn inside the trace context a message carried. */
export function withRemoteContext<T>(headers: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  return context.with(propagation.extract(context.active(), headers), fn);
}
