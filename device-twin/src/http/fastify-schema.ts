/** Route schema fields the OpenAPI document uses. */
import 'fastify';

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
    /** Longer text for the OpenAPI document (errors, scopes). */
    description?: string;
    /** Leave the route out of the OpenAPI document. */
    hide?: boolean;
  }
}
