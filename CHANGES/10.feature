`GET /pulp/api/v3/distributions/kickstart/kickstart/<id>/trees/` returns what a distribution
serves (the same document as its `trees.json`) behind the API's permissions, and
`pulp kickstart distribution urls` uses it, so it works on distributions with a content guard.
