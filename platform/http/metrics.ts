import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process (no global default), shared by every component in it. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    produced: new Counter({
      name: 'parley_events_produced_total',
      help: 'Events published to the transport',
      labelNames: ['topic'],
      registers: [registry],
    }),
    consumed: new Counter({
      name: 'parley_events_consumed_total',
      help: 'Events handled by consumers',
      labelNames: ['consumer', 'topic', 'outcome'],
      registers: [registry],
    }),
    failed: new Counter({
      name: 'parley_events_failed_total',
      help: 'Handler attempts that failed',
      labelNames: ['consumer', 'topic'],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'parley_events_dead_lettered_total',
      help: 'Events sent to a DLQ',
      labelNames: ['consumer', 'topic'],
      registers: [registry],
    }),
    handlerSeconds: new Histogram({
      name: 'parley_handler_duration_seconds',
      help: 'Handler latency',
      labelNames: ['consumer'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'parley_consumer_lag',
      help: 'Messages not yet consumed',
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: 'parley_outbox_backlog',
      help: 'Outbox rows not yet published',
      labelNames: ['schema'],
      registers: [registry],
    }),
    outboxOldestSeconds: new Gauge({
      name: 'parley_outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished outbox row',
      labelNames: ['schema'],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'parley_circuit_breaker_open',
      help: '1 when a circuit breaker is open',
      labelNames: ['dependency'],
      registers: [registry],
    }),
  };
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
