IMAGE_NAME=my-alpine-image
