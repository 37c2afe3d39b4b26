docker tag $IMAGE_NAME localhost:5000/$IMAGE_NAME:1.0
docker push localhost:5000/$IMAGE_NAME:1.0
