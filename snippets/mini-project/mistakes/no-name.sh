mkdir ../no-name
cd ../no-name
cp ../docker-architecture/Dockerfile .
docker build .
docker image ls
