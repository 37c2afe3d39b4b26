import docker

client = docker.from_env()
for message in client.api.build(path=".", tag="my-alpine-image", decode=True):
    print(message)
