import { defineEntity, p } from '@mikro-orm/postgresql';
import { OutboxEvent } from '../../platform/events/outbox.ts';
import { ProcessedEvent } from '../../platform/events/consumer.ts';

export const TaskSchema = defineEntity({
  name: 'Task',
  tableName: 'tasks',
  properties: {
    id: p.uuid().primary(),
    ownerId: p.string(),
    title: p.string(),
    status: p.string().default('open'),
    sessionId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    completedAt: p.datetime().nullable(),
  },
});
export class Task extends TaskSchema.class {}
TaskSchema.setClass(Task);

export const tasksEntities = [Task, OutboxEvent, ProcessedEvent];
