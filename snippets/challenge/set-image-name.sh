IMAGE_NAME=my-alpine-app
