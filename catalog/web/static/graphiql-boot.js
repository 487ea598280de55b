// Starts GraphiQL on /graphql with this server's own React and GraphiQL files.
(function () {
  "use strict";
  var el = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({ url: el.dataset.endpoint });
  var query = [
    "# Paste a token into the Headers pane below (admin, owner, reviewer or pipeline).",
    "query {",
    '  check(field: "dwh.marts.audiences.baby_club_member",',
    '        purpose: "marketing.direct", channel: "email") {',
    "    allowed reasons { code message rule path } obligations effectiveCategories revision",
    "  }",
    "}",
    ""].join("\n");
  ReactDOM.createRoot(el).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: query,
    defaultHeaders: '{\n  "Authorization": "Bearer PASTE-A-TOKEN-HERE"\n}',
    defaultEditorToolsVisibility: "headers",
    shouldPersistHeaders: false,
  }));
})();
