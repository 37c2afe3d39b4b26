echo "$IMAGE_NAME"
