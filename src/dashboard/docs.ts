/**
 * The API reference page (/docs): Swagger UI (its bundle is loaded just
 * before this script, from this origin) over the service's /openapi.json.
 * Only this origin is contacted; a key typed into "Authorize" stays in this
 * page's memory.
 */
declare const SwaggerUIBundle: (options: Record<string, unknown>) => unknown;

SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // No call to the public validator badge service: this page works offline.
  validatorUrl: null,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  displayOperationId: true,
  persistAuthorization: false,
});
