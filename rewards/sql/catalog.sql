-- What a redemption takes of its catalog item (a unit of stock, one of the customer's
-- redemptions in the item's limit period), and what a void gives back. ledger_debit
-- (ledger.sql) writes the redemption's item; ledger_refund gives its points back. Called by
-- rewards/services/catalog_take.py, which writes down the lock order.

-- What a redemption from a catalog item takes of it, under row locks, in the redemption's
-- transaction (so a refused or failed debit gives it back by rolling back): a unit of stock
-- when the item has a stock, and one of the customer's redemptions in the limit period when it
-- has a limit. Answers 'ok', 'out_of_stock' or 'limit_reached'. The item's row lock comes
-- first, then the count's, then (in ledger_debit) the account's: a void takes them in the same
-- order.
CREATE OR REPLACE FUNCTION catalog_take(
    p_item_id bigint, p_user_id bigint, p_stock boolean, p_limit bigint, p_period text, p_period_start date
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    taken integer;
BEGIN
    IF p_stock THEN
        UPDATE rewards_catalogitem SET units_out = units_out + 1
        WHERE id = p_item_id AND (stock IS NULL OR units_out < stock);
        GET DIAGNOSTICS taken = ROW_COUNT;
        IF taken = 0 THEN
            RETURN 'out_of_stock';
        END IF;
    END IF;
    IF p_limit IS NOT NULL THEN
        IF p_limit < 1 THEN
            RETURN 'limit_reached';
        END IF;
        INSERT INTO rewards_catalogredemptioncount AS c (catalog_item_id, user_id, period, period_start, count)
        VALUES (p_item_id, p_user_id, p_period, p_period_start, 1)
        ON CONFLICT (catalog_item_id, user_id, period, period_start) DO UPDATE SET count = c.count + 1
        WHERE c.count < p_limit;
        GET DIAGNOSTICS taken = ROW_COUNT;
        IF taken = 0 THEN
            RETURN 'limit_reached';
        END IF;
    END IF;
    RETURN 'ok';
END $$;

-- Give back what a redemption took of its catalog item: the unit and the count.
CREATE OR REPLACE FUNCTION catalog_give_back(p_item rewards_redeemeditem, p_user_id bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_item.stock_counted THEN
        UPDATE rewards_catalogitem SET units_out = units_out - 1 WHERE id = p_item.catalog_item_id;
    END IF;
    IF p_item.limit_period_start IS NOT NULL THEN
        UPDATE rewards_catalogredemptioncount SET count = count - 1
        WHERE catalog_item_id = p_item.catalog_item_id AND user_id = p_user_id AND period = p_item.limit_period
          AND period_start = p_item.limit_period_start;
    END IF;
END $$;
