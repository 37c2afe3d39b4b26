echo docker build -t $IMAGE_NAME .
