export {
  migrateSchema,
  checkSchemaReadable,
  schemaVersion,
  type SchemaMigration,
  type SchemaStatus,
} from './migrate.js';
