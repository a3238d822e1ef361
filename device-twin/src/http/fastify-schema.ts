/** Route schema fields the OpenAPI document uses. */
import 'fastify';

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
    /** Leave the route out of the OpenAPI document. */
    hide?: boolean;
  }
}
