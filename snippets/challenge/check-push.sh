curl --silent http://localhost:5000/v2/$IMAGE_NAME/tags/list
