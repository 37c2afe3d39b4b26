docker tag my-alpine-image localhost:5000/my-alpine-image:1.0
docker push localhost:5000/my-alpine-image:1.0
