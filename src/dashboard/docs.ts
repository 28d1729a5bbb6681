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
  // No deep links: they would put a link inside each operation's toggle button (nested interactive controls).
  deepLinking: false,
  // No call to the public validator badge service: this page works offline.
  validatorUrl: null,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  displayOperationId: true,
  persistAuthorization: false,
});

/**
 * Swagger UI renders a few selects without a label (the server choice, each
 * response's example choice): name them for screen readers as they appear;
 * and its code samples scroll sideways on a phone: make them focusable, so
 * the keyboard can scroll them too.
 */
const UNLABELLED: [selector: string, label: string][] = [
  ['select#servers', 'Server'],
  ['select.examples-select-element', 'Example'],
];
new MutationObserver(() => {
  for (const [selector, label] of UNLABELLED) {
    for (const select of document.querySelectorAll(`${selector}:not([aria-label])`)) select.setAttribute('aria-label', label);
  }
  for (const code of document.querySelectorAll('pre.microlight:not([tabindex])')) code.setAttribute('tabindex', '0');
}).observe(document.body, { childList: true, subtree: true });
