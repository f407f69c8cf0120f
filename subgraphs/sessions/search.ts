import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../../platform/errors.ts';
import { pageSize } from '../../platform/graphql/pagination.ts';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { Message, Session } from './entities.ts';
import { viewOf, type MessageRow } from './messages-resolvers.ts';
import { LIMITS, decodeOffsetCursor, encodeOffsetCursor, isUuid, validEmbedding } from './validation.ts';

export interface SearchFilter {
  sessionId?: string | null;
  role?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** A title hit weighs like a message hit of this many times the rank: titles are short and deliberate. */
const TITLE_WEIGHT = 1.5;
const HEADLINE = 'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=12, MaxFragments=2';

interface HitRow extends Omit<MessageRow, 'session_id'> {
  kind: 'MESSAGE' | 'SESSION_TITLE';
  session_id: string;
  message_id: string | null;
  rank: number;
  snippet: string;
}

function filterClauses(filter: SearchFilter, alias: 'm' | 's', timeColumn: string) {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.sessionId) {
    where.push(`${alias === 'm' ? 'm.session_id' : 's.id'} = ?`);
    params.push(filter.sessionId);
  }
  if (filter.from) {
    where.push(`${timeColumn} >= ?`);
    params.push(filter.from);
  }
  if (filter.to) {
    where.push(`${timeColumn} < ?`);
    params.push(filter.to);
  }
  return { where, params };
}

/**
 * Ranked full-text search (english configuration, websearch syntax) over the caller's messages
 * and session titles. The tsvector columns are generated, so a row is searchable as soon as its
 * write commits. Only the returned page gets ts_headline, which is the expensive part.
 */
export async function searchAll(
  em: EntityManager,
  ownerId: string,
  query: string,
  filter: SearchFilter,
  first: number | null | undefined,
  after: string | null | undefined,
) {
  const text = query.trim();
  if (text === '') throw badInput('query', 'query must not be empty');
  if (text.length > LIMITS.searchQuery)
    throw badInput('query', `query is longer than ${LIMITS.searchQuery} characters`);
  const size = pageSize(first);
  const offset = decodeOffsetCursor(after);
  if (filter.sessionId && !isUuid(filter.sessionId))
    return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
  const messages = filterClauses(filter, 'm', 'm.created_at');
  const parts = [
    `select 'MESSAGE' as kind, m.session_id, m.id as message_id, ts_rank(m.search_tsv, q.q) as rank,
            m.created_at as at
       from sessions.messages m join sessions.sessions s on s.id = m.session_id, q
      where m.owner_id = ? and m.search_tsv @@ q.q and s.deleted_at is null
            ${filter.role ? 'and m.role = ?' : ''} ${messages.where.map((w) => `and ${w}`).join(' ')}`,
  ];
  const params: unknown[] = [text, ownerId, ...(filter.role ? [filter.role] : []), ...messages.params];
  if (!filter.role) {
    const titles = filterClauses(filter, 's', 's.created_at');
    parts.push(`select 'SESSION_TITLE', s.id, null::uuid, ts_rank(s.title_tsv, q.q) * ${TITLE_WEIGHT}, s.created_at
       from sessions.sessions s, q
      where s.owner_id = ? and s.title_tsv @@ q.q and s.deleted_at is null
            ${titles.where.map((w) => `and ${w}`).join(' ')}`);
    params.push(ownerId, ...titles.params);
  }
  const rows = await em.getConnection().execute<HitRow[]>(
    `with q as (select websearch_to_tsquery('english', ?) as q),
     hits as (
       select * from (${parts.join(' union all ')}) h
        order by h.rank desc, h.at desc, coalesce(h.message_id, h.session_id) desc
        limit ${size + 1} offset ${offset})
     select h.kind, h.session_id, h.message_id, h.rank::float8 as rank, m.id, m.owner_id, m.role,
            m.content, m.created_at, m.seq, m.idempotency_key, m.parent_id, m.token_count, m.metadata,
            m.context, ts_headline('english', coalesce(m.content, s.title), q.q, '${HEADLINE}') as snippet
       from hits h cross join q
       left join sessions.messages m on m.id = h.message_id
       join sessions.sessions s on s.id = h.session_id
      order by h.rank desc, h.at desc, coalesce(h.message_id, h.session_id) desc`,
    params,
  );
  const page = rows.slice(0, size);
  const sessions = await em.find(Session, { id: { $in: [...new Set(page.map((r) => r.session_id))] } });
  const sessionById = new Map(sessions.map((s) => [s.id, s]));
  const edges = page.map((r, i) => ({
    cursor: encodeOffsetCursor(offset + i + 1),
    node: {
      kind: r.kind,
      session: sessionById.get(r.session_id),
      // The message's columns come with the hit: no second query for the page's messages.
      message: r.message_id ? viewOf(r) : null,
      rank: Number(r.rank),
      snippet: r.snippet,
    },
  }));
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
}

/**
 * Whether this database has pgvector installed. Checked once per process: with it, similarity
 * uses its `<=>` cosine distance on the stored float4[] (cast to vector); without it (the local
 * Postgres 15 here, and PGlite as `npm start` runs it) cosine is computed in SQL.
 */
const vectorSupport = new WeakMap<object, Promise<boolean>>();
export function hasPgvector(em: EntityManager): Promise<boolean> {
  const key = em.getConnection();
  let known = vectorSupport.get(key);
  if (!known) {
    known = em
      .getConnection()
      .execute<{ present: boolean }[]>(
        `select exists (select 1 from pg_extension where extname = 'vector') as present`,
      )
      .then((rows) => rows[0]?.present === true)
      .catch(() => false);
    vectorSupport.set(key, known);
  }
  return known;
}

export async function similarMessages(
  em: EntityManager,
  ownerId: string,
  embeddingInput: number[],
  filter: SearchFilter,
  first: number | null | undefined,
) {
  const embedding = validEmbedding(embeddingInput)!;
  const size = pageSize(first, 10);
  if (filter.sessionId && !isUuid(filter.sessionId)) return [];
  const clauses = filterClauses(filter, 'm', 'm.created_at');
  if (filter.role) {
    clauses.where.push('m.role = ?');
    clauses.params.push(filter.role);
  }
  const vector = await hasPgvector(em);
  const score = vector
    ? `1 - (m.embedding::vector <=> q.v::vector)`
    : `(select sum(a * b) / nullif(sqrt(sum(a * a)) * sqrt(sum(b * b)), 0)
          from unnest(m.embedding, q.v) as t(a, b))`;
  const rows = await em.getConnection().execute<{ id: string; score: number }[]>(
    `with q as (select array(select x::real from jsonb_array_elements_text(?::jsonb) x) as v)
     select m.id, (${score})::float8 as score
       from sessions.messages m join sessions.sessions s on s.id = m.session_id, q
      where m.owner_id = ? and s.deleted_at is null and m.embedding is not null
        and cardinality(m.embedding) = cardinality(q.v)
        ${clauses.where.map((w) => `and ${w}`).join(' ')}
      order by 2 desc nulls last, m.id
      limit ${size}`,
    [JSON.stringify(embedding), ownerId, ...clauses.params],
  );
  const messages = await em.find(Message, { id: { $in: rows.map((r) => r.id) } });
  const byId = new Map(messages.map((m) => [m.id, m]));
  return rows.flatMap((r) => {
    const message = byId.get(r.id);
    return message ? [{ message, score: Number(r.score) }] : [];
  });
}

export const searchQueries = {
  search: (
    _: unknown,
    args: { query: string; filter?: SearchFilter | null; first?: number | null; after?: string | null },
    ctx: DomainContext,
  ) => searchAll(ctx.em, requireUser(ctx).userId, args.query, args.filter ?? {}, args.first, args.after),
  similarMessages: (
    _: unknown,
    args: { embedding: number[]; filter?: SearchFilter | null; first?: number | null },
    ctx: DomainContext,
  ) => similarMessages(ctx.em, requireUser(ctx).userId, args.embedding, args.filter ?? {}, args.first),
};
