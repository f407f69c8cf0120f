import { GraphQLScalarType, Kind } from 'graphql';

export const DateTime = new GraphQLScalarType<Date | null, string>({
  name: 'DateTime',
  description: 'ISO-8601 date-time in UTC',
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString(),
  parseValue: (value) => {
    const date = new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
    return date;
  },
  parseLiteral: (ast) => (ast.kind === Kind.STRING ? new Date(ast.value) : null),
});
