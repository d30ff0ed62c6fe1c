global using CT = System.Threading.CancellationToken;
