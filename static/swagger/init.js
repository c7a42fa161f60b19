// Starts Swagger UI on /docs. A file, not an inline script: the CSP allows only 'self'.
window.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("swagger-ui");
  if (!target || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: target.dataset.openapiUrl,
    domNode: target,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // the API takes a bearer key, not the browser's session: no cookies sent by "Try it out"
    requestInterceptor: function (request) { request.credentials = "omit"; return request; },
  });
});
