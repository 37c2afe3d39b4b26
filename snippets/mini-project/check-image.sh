docker image ls "$IMAGE_NAME"
