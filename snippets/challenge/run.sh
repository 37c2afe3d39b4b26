docker run --rm $IMAGE_NAME
