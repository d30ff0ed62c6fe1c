using System.Security.Cryptography;
using System.Text.Json;
using OAuthBroker.Events;
using OAuthBroker.Scheduling;
using OAuthBroker.Tests.Support;

namespace OAuthBroker.Tests.Events;

/// <summary>
/// Delivery end to end: link events made by the broker the tests drive, delivered by another broker instance (its own
/// clock, moved by hand to reach retries) to real HTTPS receivers on loopback, signed with secrets read from the local
/// Key Vault endpoint. Every check on a signature is the receiver's own (<see cref="WebhookSigner.Verify"/>).
/// </summary>
[Collection(BrokerEnvironmentGroup.Name)]
public sealed class WebhookDeliveryTests(BrokerEnvironmentFixture fixture)
{
    private static string NewSecret() => WebhookSecret.Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>A new secret the fixture's log and payload scans look for.</summary>
    private string SeenSecret()
    {
        var secret = NewSecret();
        fixture.SeenSecrets.Add(secret);
        return secret;
    }

    /// <summary>A broker instance delivering to <paramref name="receivers"/>, one endpoint each, whose cursors start now.</summary>
    private async Task<(BrokerInstance Broker, string[] Endpoints)> StartDeliveringAsync(string secretValue, WebhookReceiver[] receivers, params string[] extra)
    {
        var names = receivers.Select(_ => "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))).ToArray();
        var settings = new List<string> { "--Events:AttemptTimeout=00:00:02", "--Events:RetryBaseDelay=00:01:00", "--Events:LocalCertificatePath=" + receivers[0].CertificatePath };
        for (var i = 0; i < receivers.Length; i++)
        {
            await fixture.SecretClient.SetSecretAsync("webhook-" + names[i], secretValue);
            settings.Add($"--Events:Endpoints:{names[i]}:Url={receivers[i].Url}");
            settings.Add($"--Events:Endpoints:{names[i]}:SecretName=webhook-{names[i]}");
        }

        var broker = await BrokerInstance.StartAsync(fixture, new ManualClock(), [.. settings, .. extra]);
        await RunAsync(broker);
        return (broker, names);
    }

    private static Task<int> RunAsync(BrokerInstance broker) =>
        broker.Get<IEnumerable<IHousekeepingTask>>().OfType<EventDeliveryTask>().Single().RunAsync(broker.Clock.GetUtcNow() + TimeSpan.FromMinutes(2), default);

    private async Task<string> LinkAsync(long uid = 0)
    {
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync(uid);
        return browser.User;
    }

    /// <summary>A new user with one link, once <paramref name="broker"/>'s listing shows its event.</summary>
    private async Task<string> LinkedUserAsync(BrokerInstance broker)
    {
        var user = await LinkAsync();
        await ListedAsync(broker, user);
        return user;
    }

    /// <summary>
    /// Waits until <paramref name="broker"/>'s listing shows the user's event: each instance reads the storage service's
    /// clock from one-second <c>Date</c> headers, so one instance may see another's fresh append a moment later.
    /// </summary>
    private static async Task ListedAsync(BrokerInstance broker, string userId, int count = 1)
    {
        for (var i = 0; i < 100 && (await EventLogReading.OfUserAsync(broker.Get<IEventLog>(), userId)).Count < count; i++)
        {
            await Task.Delay(100);
        }

        (await EventLogReading.OfUserAsync(broker.Get<IEventLog>(), userId)).Count.ShouldBeGreaterThanOrEqualTo(count);
    }

    private static ReceivedWebhook[] Of(WebhookReceiver receiver, string userId) =>
        receiver.Received.Where(r => LinkEventJson.Read(r.Text).UserId == userId).ToArray();

    private static LinkEvent EventOf(ReceivedWebhook received) => LinkEventJson.Read(received.Text);

    [Fact]
    public async Task An_event_arrives_signed_with_every_secret_in_the_vault_value_and_verifies_with_each()
    {
        var (current, previous) = (SeenSecret(), SeenSecret());
        await using var receiver = await WebhookReceiver.StartAsync();
        var (broker, _) = await StartDeliveringAsync(current + " " + previous, [receiver]);
        await using var _ = broker;

        var user = await LinkedUserAsync(broker);
        await RunAsync(broker);

        var received = Of(receiver, user).ShouldHaveSingleItem();
        var e = EventOf(received);
        e.Type.ShouldBe(LinkEventTypes.Created);
        received.Id.ShouldBe(e.Id, "webhook-id is the event's id, the receiver's deduplication key");
        long.Parse(received.Timestamp, System.Globalization.CultureInfo.InvariantCulture).ShouldBeInRange(
            DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
        received.Signature.Split(' ').Length.ShouldBe(2);
        received.Signature.Split(' ').ShouldAllBe(s => s.StartsWith("v1,", StringComparison.Ordinal));
        WebhookSigner.Verify(received.Id, received.Timestamp, received.Body, received.Signature, WebhookSecret.TryParse(current)!).ShouldBeTrue();
        WebhookSigner.Verify(received.Id, received.Timestamp, received.Body, received.Signature, WebhookSecret.TryParse(previous)!).ShouldBeTrue();
        WebhookSigner.Verify(received.Id, received.Timestamp, received.Body, received.Signature, WebhookSecret.TryParse(NewSecret())!).ShouldBeFalse();
        var tampered = received.Body.ToArray();
        tampered[^3] ^= 1;
        WebhookSigner.Verify(received.Id, received.Timestamp, tampered, received.Signature, WebhookSecret.TryParse(current)!).ShouldBeFalse();
        using var json = JsonDocument.Parse(received.Body);
        json.RootElement.GetProperty("type").GetString().ShouldBe("link.created");
        json.RootElement.GetProperty("data").GetProperty("user_id").GetString().ShouldBe(user);
        LogAssertions.ContainNone(receiver.Received.Select(r => r.Text).ToArray(), fixture.SeenSecrets.All.Concat(fixture.SandboxIssued.All));
    }

    [Fact]
    public async Task A_5xx_answer_is_retried_after_a_backoff_with_the_same_id_and_then_delivered()
    {
        var secret = SeenSecret();
        await using var receiver = await WebhookReceiver.StartAsync();
        var (broker, _) = await StartDeliveringAsync(secret, [receiver]);
        await using var _ = broker;
        var user = await LinkedUserAsync(broker);
        receiver.Respond = r => Task.FromResult(EventOf(r).UserId == user && Of(receiver, user).Length == 1 ? 503 : 204);

        await RunAsync(broker);
        Of(receiver, user).Length.ShouldBe(1);
        await RunAsync(broker);
        Of(receiver, user).Length.ShouldBe(1, "the retry waits for its backoff");

        broker.Clock.Advance(TimeSpan.FromMinutes(5));
        await RunAsync(broker);

        var attempts = Of(receiver, user);
        attempts.Length.ShouldBe(2);
        attempts.Select(a => a.Id).Distinct().ShouldHaveSingleItem();
        attempts.ShouldAllBe(a => WebhookSigner.Verify(a.Id, a.Timestamp, a.Body, a.Signature, WebhookSecret.TryParse(secret)!));
        broker.Clock.Advance(TimeSpan.FromHours(1));
        await RunAsync(broker);
        Of(receiver, user).Length.ShouldBe(2, "a delivered event is not sent again");
    }

    [Fact]
    public async Task An_attempt_that_times_out_is_retried_and_the_receiver_deduplicates_by_webhook_id()
    {
        var secret = SeenSecret();
        await using var receiver = await WebhookReceiver.StartAsync();
        var (broker, _) = await StartDeliveringAsync(secret, [receiver]);
        await using var _ = broker;
        var user = await LinkedUserAsync(broker);
        receiver.Respond = async r =>
        {
            if (EventOf(r).UserId == user && Of(receiver, user).Length == 1)
            {
                // Read in full, processed, answered too late: the sender has given up (its attempt timeout is 2 s).
                await Task.Delay(TimeSpan.FromSeconds(6));
            }

            return 200;
        };

        await RunAsync(broker);
        broker.Clock.Advance(TimeSpan.FromMinutes(5));
        await RunAsync(broker);

        var attempts = Of(receiver, user);
        attempts.Length.ShouldBe(2, "the receiver processed the first attempt, the broker could not know");
        attempts.Select(a => a.Id).Distinct().ShouldHaveSingleItem("deduplicating by webhook-id leaves one event");
    }

    [Fact]
    public async Task A_receiver_down_for_a_while_gets_every_event_once_it_is_back()
    {
        var secret = SeenSecret();
        await using var receiver = await WebhookReceiver.StartAsync();
        var (broker, _) = await StartDeliveringAsync(secret, [receiver]);
        await using var _ = broker;
        await receiver.StopAsync();

        var users = new[] { await LinkAsync(), await LinkAsync(), await LinkAsync() };
        await ListedAsync(broker, users[2]);
        await RunAsync(broker);
        broker.Clock.Advance(TimeSpan.FromHours(2));
        await RunAsync(broker);
        users.ShouldAllBe(u => Of(receiver, u).Length == 0);

        await receiver.StartAsync(default);
        broker.Clock.Advance(TimeSpan.FromHours(5));
        await RunAsync(broker);

        users.ShouldAllBe(u => Of(receiver, u).Length == 1);
    }

    [Fact]
    public async Task An_event_undeliverable_for_more_than_a_day_is_dead_lettered_and_no_longer_sent()
    {
        var secret = SeenSecret();
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => Task.FromResult(500);
        var (broker, endpoints) = await StartDeliveringAsync(secret, [receiver]);
        await using var _ = broker;
        var user = await LinkedUserAsync(broker);

        await RunAsync(broker);
        broker.Clock.Advance(TimeSpan.FromHours(23));
        await RunAsync(broker);
        (await broker.Get<IDeliveryStore>().DeadLettersAsync(endpoints[0], default)).ShouldBeEmpty("less than a day: still retried");
        broker.Clock.Advance(TimeSpan.FromHours(5));
        await RunAsync(broker);

        var dead = (await broker.Get<IDeliveryStore>().DeadLettersAsync(endpoints[0], default)).Where(d => d.Logged.Event.UserId == user).ShouldHaveSingleItem();
        dead.Attempts.ShouldBe(3);
        dead.LastError.ShouldBe("http_500");
        broker.Clock.Advance(TimeSpan.FromDays(2));
        await RunAsync(broker);
        Of(receiver, user).Length.ShouldBe(3);
    }

    [Fact]
    public async Task A_receiver_that_never_answers_does_not_hold_up_another_endpoint()
    {
        var secret = SeenSecret();
        await using var slow = await WebhookReceiver.StartAsync();
        await using var fast = await WebhookReceiver.StartAsync(slow);
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        slow.Respond = _ => release.Task;
        var (broker, _) = await StartDeliveringAsync(secret, [slow, fast], "--Events:AttemptTimeout=00:01:00");
        await using var _ = broker;
        var user = await LinkedUserAsync(broker);

        var run = RunAsync(broker);
        for (var i = 0; i < 600 && Of(fast, user).Length == 0; i++)
        {
            await Task.Delay(100);
        }

        Of(fast, user).Length.ShouldBe(1, "delivered while the other endpoint's attempt is still waiting");
        Of(slow, user).Length.ShouldBe(1);
        run.IsCompleted.ShouldBeFalse("the slow endpoint's attempt is still in flight");
        release.SetResult(204);
        await run;
    }

    [Fact]
    public async Task A_broker_process_killed_after_the_state_change_and_before_any_delivery_still_gets_its_event_delivered()
    {
        var secret = SeenSecret();
        await using var receiver = await WebhookReceiver.StartAsync();
        var (broker, _) = await StartDeliveringAsync(secret, [receiver]);
        await using var _ = broker;
        using var browser = fixture.NewBrowser();
        await browser.LinkAsync();
        var account = (await browser.LinksAsync()).ShouldHaveSingleItem().AccountId;
        await using var doomed = await HandlerProcess.StartAsync(HandlerProcess.BuiltExecutable,
            arguments: fixture.Environment.BrokerArguments.Where(a => !a.StartsWith("--urls=", StringComparison.Ordinal)));

        using (var unlinked = await browser.Http.DeleteAsync(new Uri(doomed.Uri, $"api/links/bybit/{account}")))
        {
            unlinked.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK, "the doomed process unlinked the account");
        }

        await doomed.KillAsync();
        await ListedAsync(broker, browser.User, count: 2);
        await RunAsync(broker);

        var delivered = Of(receiver, browser.User).Select(EventOf).Select(e => e.Type).ToArray();
        delivered.ShouldContain(LinkEventTypes.Deleted);
    }

    [Fact]
    public async Task A_410_answer_dead_letters_the_event_at_once()
    {
        var secret = SeenSecret();
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => Task.FromResult(410);
        var (broker, endpoints) = await StartDeliveringAsync(secret, [receiver]);
        await using var _ = broker;
        var user = await LinkedUserAsync(broker);

        await RunAsync(broker);
        broker.Clock.Advance(TimeSpan.FromHours(1));
        await RunAsync(broker);

        var dead = (await broker.Get<IDeliveryStore>().DeadLettersAsync(endpoints[0], default)).Where(d => d.Logged.Event.UserId == user).ShouldHaveSingleItem();
        dead.LastError.ShouldBe("gone");
        Of(receiver, user).Length.ShouldBe(1, "the receiver said it wants no more");
    }

    [Fact]
    public async Task The_scheduled_run_delivers_events_after_the_refresh_sweep()
    {
        var secret = SeenSecret();
        await using var receiver = await WebhookReceiver.StartAsync();
        var (broker, _) = await StartDeliveringAsync(secret, [receiver]);
        await using var _ = broker;
        var user = await LinkedUserAsync(broker);

        var report = await broker.Get<ScheduledRun>().RunAsync(default);

        report.Housekeeping.Keys.ShouldContain("event-delivery");
        report.FailedTasks.ShouldNotContain("event-delivery");
        Of(receiver, user).ShouldHaveSingleItem();
    }
}
