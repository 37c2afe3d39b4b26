curl --silent http://localhost:5000/v2/my-alpine-image/tags/list
