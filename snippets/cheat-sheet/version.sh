docker version --format "Client {{.Client.Version}} talks to Engine {{.Server.Version}} (API {{.Server.APIVersion}})"
