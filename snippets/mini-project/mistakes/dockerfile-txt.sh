mkdir ../dockerfile-txt
cd ../dockerfile-txt
cp ../docker-architecture/Dockerfile Dockerfile.txt
docker build -t $IMAGE_NAME .
