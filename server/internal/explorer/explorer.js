// Starts GraphiQL on the #graphiql element, pointed at its data-endpoint.
(function () {
  'use strict';

  var DEFAULT_QUERY = [
    '# Welcome to the Promogate GraphQL explorer.',
    '#',
    '# Ctrl-Enter (or the run button) sends the query.',
    '# Ctrl-Space autocompletes; the Docs button at',
    '# the top left browses the schema. Request',
    '# headers (e.g. Authorization) go in Headers.',
    '',
    '{',
    '  programs {',
    '    code',
    '    name',
    '  }',
    '}',
    ''
  ].join('\n');

  var root = document.getElementById('graphiql');
  try {
    var url = new URL(root.getAttribute('data-endpoint') || '/graphql', document.baseURI);
    var ws = new URL(url.href);
    ws.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    var fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: ws.href });
    ReactDOM.createRoot(root).render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultQuery: DEFAULT_QUERY,
        shouldPersistHeaders: false
      })
    );
  } catch (err) {
    root.textContent = 'The GraphQL explorer failed to start: ' + err;
    throw err;
  }
})();
